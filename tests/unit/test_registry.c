/* test_registry.c: the model registry: byte-identical round trips, digests, refs, aliases and
 * their history, lineage and metrics, rm and gc, dedup accounting, damaged blobs and catalog
 * rows, concurrent pushers and pullers, SIGKILL during push and gc, a full disk, file modes,
 * and OOM torture on two threads (every allocation in turn, and seeded random ones). Children
 * of fork() leave with _exit (the temp dir is removed at exit). */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "registry/manifest.h" /* internal: the layout parser meets hostile bytes below */
#include "testlib.h"

/* ---- fixtures ------------------------------------------------------------------------------ */
/* test_path() with a ring of 64 buffers: these tests hold many paths at once. */
static const char *tpath(const char *name)
{
    static char buf[64][512];
    static int k;
    k = (k + 1) % 64;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), name);
    return buf[k];
}

typedef struct tspec {
    const char *name;
    uint64_t elems;           /* float32 elements */
    unsigned seed;
    unsigned flags;           /* TROVE_TENSOR_ZSTD */
    unsigned align;
} tspec;

static void fill(float *p, uint64_t n, unsigned seed)
{
    uint64_t s = seed * 2654435761u + 17;
    for (uint64_t k = 0; k < n; k++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        p[k] = (float)(s >> 40) / 16777216.0f;
    }
}

/* Write a model; meta_extra (may be NULL) is merged into the metadata (taken). */
static int write_model(const char *path, const tspec *ts, size_t n, trove_value *meta_extra)
{
    trove_error err = {0};
    trove_writer *w = NULL;
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    if (trove_writer_open(&w, path, &wo, &err) != TROVE_OK)
        return -1;
    trove_value *meta = meta_extra ? meta_extra : trove_value_map(NULL);
    int rc = trove_value_map_set(meta, "kind", trove_value_cstring(NULL, "tensors"));
    rc |= trove_writer_set_metadata(w, meta, &err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        float *buf = malloc(ts[i].elems * 4 + 4);
        fill(buf, ts[i].elems, ts[i].seed);
        uint64_t shape[1] = {ts[i].elems};
        trove_tensor_spec sp = {ts[i].name, TROVE_FLOAT32, 1, shape, ts[i].flags, ts[i].align};
        rc = trove_writer_add(w, &sp, buf, &err);
        free(buf);
    }
    if (rc == 0)
        rc = trove_writer_commit(w, &err);
    trove_writer_free(w);
    if (rc)
        fprintf(stderr, "write_model: %s\n", err.message);
    return rc;
}

/* A model of nt tensors of elems floats; tensor i has seed base_seed[i] (or i+1). */
static int write_simple(const char *path, size_t nt, uint64_t elems, const unsigned *seeds)
{
    tspec ts[64];
    char names[64][16];
    for (size_t i = 0; i < nt && i < 64; i++) {
        snprintf(names[i], sizeof names[i], "w%02zu", i);
        ts[i] = (tspec){names[i], elems, seeds ? seeds[i] : (unsigned)i + 1, 0, 0};
    }
    return write_model(path, ts, nt, NULL);
}

static int files_equal(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *pa = test_read_file(a, &na), *pb = test_read_file(b, &nb);
    int eq = pa && pb && na == nb && memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return eq;
}

static int file_digest(const char *path, uint8_t out[32])
{
    trove_file *f = NULL;
    trove_error err = {0};
    int rc = trove_open(&f, path, NULL, &err);
    if (!rc)
        rc = trove_file_digest(f, 0, 1, out, &err);
    trove_close(f);
    return rc;
}

static int regno;
/* A fresh registry directory path. */
static const char *fresh_dir(void)
{
    static char buf[64][512];
    int k = regno++ % 64;
    char name[32];
    snprintf(name, sizeof name, "reg%d", regno);
    snprintf(buf[k], sizeof buf[k], "%s", tpath(name));
    return buf[k];
}

static trove_registry *open_reg(const char *dir, const trove_allocator *alloc)
{
    trove_registry_options o = TROVE_REGISTRY_OPTIONS_INIT;
    o.flags = TROVE_REGISTRY_CREATE;
    o.alloc = alloc;
    trove_registry *r = NULL;
    trove_error err = {0};
    if (trove_registry_open(&r, dir, &o, &err) != TROVE_OK) {
        fprintf(stderr, "open_reg: %s\n", err.message);
        return NULL;
    }
    return r;
}

static int count_blobs(const char *dir, uint64_t *bytes)
{
    trove_registry *r = open_reg(dir, NULL);
    trove_registry_stats st;
    trove_error err = {0};
    int rc = r ? trove_registry_stat(r, &st, &err) : -1;
    trove_registry_close(r);
    if (bytes)
        *bytes = rc ? 0 : st.blob_bytes;
    return rc ? -1 : (int)st.blobs;
}

typedef struct fsck_count {
    int damaged, notes;
    char first[300];
} fsck_count;

static void on_fsck(void *ctx, int damaged, const char *msg)
{
    fsck_count *c = ctx;
    if (damaged && !c->damaged)
        snprintf(c->first, sizeof c->first, "%s", msg);
    if (damaged)
        c->damaged++;
    else
        c->notes++;
}

/* fsck status, with the problems counted in *c. */
static int fsck(trove_registry *r, fsck_count *c)
{
    memset(c, 0, sizeof *c);
    trove_error err = {0};
    trove_registry_stats st;
    int rc = trove_registry_fsck(r, 0, on_fsck, c, &st, &err);
    if (rc && rc != TROVE_E_CHECKSUM && rc != TROVE_E_NOMEM)
        fprintf(stderr, "fsck: %s\n", err.message);
    if (c->damaged && rc != TROVE_E_NOMEM)
        fprintf(stderr, "  (fsck: %s)\n", c->first);
    return rc;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

/* ---- cases --------------------------------------------------------------------------------- */
static void test_registry__roundtrip_byte_identical(void)
{
    trove_error err = {0};
    const char *model = tpath("rt.trove"), *out = tpath("rt.out");
    /* multi-chunk tensors, a compressed one, an empty one, 4096 alignment, unsorted names */
    tspec ts[] = {
        {"zeta", (UINT64_C(9) << 20) / 4 + 3, 1, 0, 0},
        {"alpha", 1000, 2, TROVE_TENSOR_ZSTD, 0},
        {"empty", 0, 3, 0, 0},
        {"mid", 12345, 4, 0, 4096},
        {"big.compressed", (UINT64_C(5) << 20) / 4, 5, TROVE_TENSOR_ZSTD, 0},
    };
    CHECK(write_model(model, ts, 5, NULL) == 0);
    const char *regdir = fresh_dir();
    trove_registry *r = open_reg(regdir, NULL);
    CHECK(r);
    trove_version *v = NULL;
    CHECK_OK(trove_registry_push(r, model, "rt", NULL, &v, &err));
    CHECK(v->number == 1);
    CHECK(!strcmp(v->model, "rt"));
    uint8_t d[32];
    CHECK(file_digest(model, d) == 0);
    CHECK(memcmp(d, v->digest, 32) == 0); /* the digest from blob ids equals trove_file_digest */
    trove_registry_versions_free(r, v, 1);
    CHECK_OK(trove_registry_pull(r, "rt", out, &v, &err));
    CHECK(files_equal(model, out));
    {
        trove_registry_options o = TROVE_REGISTRY_OPTIONS_INIT;
        o.flags = TROVE_REGISTRY_REHASH;
        trove_registry *fr = NULL;
        const char *out2 = tpath("rt.rehash");
        CHECK_OK(trove_registry_open(&fr, regdir, &o, &err));
        int frc = trove_registry_pull(fr, "rt:1", out2, NULL, &err);
        trove_registry_close(fr);
        CHECK_OK(frc);
        CHECK(files_equal(model, out2));
    }
    CHECK(v->number == 1);
    trove_registry_versions_free(r, v, 1);
    fsck_count fc;
    CHECK_OK(fsck(r, &fc));
    CHECK(fc.damaged == 0);
    trove_registry_close(r);
}

/* Files checksummed in other chunk sizes than the registry's 4 MiB pull through
 * trove_file_verify_tensor; a damaged blob of such a file is still refused. */
static void test_registry__other_chunk_sizes(void)
{
    trove_error err = {0};
    const char *dir = fresh_dir(), *path = tpath("c64k.trove"), *out = tpath("c64k.out");
    trove_writer *w = NULL;
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    wo.chunk_bytes = 65536;
    CHECK_OK(trove_writer_open(&w, path, &wo, &err));
    static float data[1200000]; /* 4.6 MiB: two registry chunks, 74 file chunks */
    fill(data, 1200000, 5);
    uint64_t shape[1] = {1200000};
    trove_tensor_spec sp = {"w", TROVE_FLOAT32, 1, shape, 0, 0};
    CHECK_OK(trove_writer_add(w, &sp, data, &err));
    trove_tensor_spec sz = {"z", TROVE_FLOAT32, 1, shape, TROVE_TENSOR_ZSTD, 0};
    CHECK_OK(trove_writer_add(w, &sz, data, &err));
    CHECK_OK(trove_writer_commit(w, &err));
    trove_writer_free(w);
    for (int rehash = 0; rehash < 2; rehash++) {
        trove_registry_options o = TROVE_REGISTRY_OPTIONS_INIT;
        o.flags = TROVE_REGISTRY_CREATE | (rehash ? TROVE_REGISTRY_REHASH : 0);
        trove_registry *r = NULL;
        CHECK_OK(trove_registry_open(&r, dir, &o, &err));
        CHECK_OK(trove_registry_push(r, path, "c64k", NULL, NULL, &err));
        CHECK_OK(trove_registry_pull(r, "c64k", out, NULL, &err));
        CHECK(files_equal(path, out));
        CHECK(unlink(out) == 0);
        trove_registry_close(r);
    }
    /* damage the first chunk of tensor w (4 MiB, the largest blob): a re-hashing pull refuses it */
    trove_file *f = NULL;
    trove_tensor_info ti;
    CHECK_OK(trove_open(&f, path, NULL, &err));
    CHECK_OK(trove_file_tensor_info(f, 0, &ti));
    trove_close(f);
    size_t n;
    unsigned char *b = test_read_file(path, &n);
    CHECK(b);
    uint8_t id[32];
    CHECK(crypto_generichash(id, 32, b + ti.offset, 4u << 20, NULL, 0) == 0);
    free(b);
    char hx[65], bp[700];
    hex(id, 32, hx);
    snprintf(bp, sizeof bp, "%s/blobs/%.2s/%s", dir, hx, hx);
    chmod(bp, 0600);
    b = test_read_file(bp, &n);
    CHECK(b && n == (4u << 20));
    b[12345] ^= 1;
    CHECK(test_write_file(bp, b, n) == 0);
    free(b);
    trove_registry_options o = TROVE_REGISTRY_OPTIONS_INIT;
    o.flags = TROVE_REGISTRY_REHASH;
    trove_registry *r = NULL;
    CHECK_OK(trove_registry_open(&r, dir, &o, &err));
    int rc = trove_registry_pull(r, "c64k", out, NULL, &err);
    trove_registry_close(r);
    CHECK(rc == TROVE_E_CHECKSUM);
    CHECK(access(out, F_OK) != 0);
}

static void test_registry__empty_model(void)
{
    trove_error err = {0};
    const char *model = tpath("empty.trove"), *out = tpath("empty.out");
    CHECK(write_model(model, NULL, 0, NULL) == 0);
    trove_registry *r = open_reg(fresh_dir(), NULL);
    CHECK(r);
    CHECK_OK(trove_registry_push(r, model, "nothing", NULL, NULL, &err));
    CHECK_OK(trove_registry_pull(r, "nothing:1", out, NULL, &err));
    CHECK(files_equal(model, out));
    trove_registry_close(r);
}

static void test_registry__same_bytes_same_version(void)
{
    trove_error err = {0};
    const char *dir = fresh_dir(), *m = tpath("same.trove");
    CHECK(write_simple(m, 4, 300000, NULL) == 0);
    trove_registry *r = open_reg(dir, NULL);
    CHECK(r);
    trove_version *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(trove_registry_push(r, m, "m", NULL, &a, &err));
    int blobs = count_blobs(dir, NULL);
    CHECK_OK(trove_registry_push(r, m, "m", NULL, &b, &err));
    CHECK(b->number == a->number); /* nothing new */
    CHECK_OK(trove_registry_push(r, m, "other", NULL, &c, &err));
    CHECK(c->number == 1 && !strcmp(c->model, "other"));
    CHECK(memcmp(c->digest, a->digest, 32) == 0);
    CHECK(count_blobs(dir, NULL) == blobs); /* the second name shares every blob */
    trove_version *log = NULL;
    size_t n = 0;
    CHECK_OK(trove_registry_log(r, "m", &log, &n, &err));
    CHECK(n == 1);
    trove_registry_versions_free(r, log, n);
    trove_registry_versions_free(r, a, 1);
    trove_registry_versions_free(r, b, 1);
    trove_registry_versions_free(r, c, 1);
    trove_registry_close(r);
}

/* A damaged file is refused by push (its version could never be pulled): a flipped tensor
 * byte, with 4 MiB checksum chunks (checked during hashing) and with 64 KiB ones (checked by
 * trove_file_verify_tensor); nothing is registered. */
static void test_registry__push_refuses_damaged_file(void)
{
    trove_error err = {0};
    const char *dir = fresh_dir();
    trove_registry *r = open_reg(dir, NULL);
    CHECK(r);
    for (int small_chunks = 0; small_chunks < 2; small_chunks++) {
        const char *path = tpath(small_chunks ? "bad64k.trove" : "bad4m.trove");
        trove_writer *w = NULL;
        trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
        wo.flags = TROVE_WRITE_NO_SYNC;
        wo.chunk_bytes = small_chunks ? 65536 : 0;
        CHECK_OK(trove_writer_open(&w, path, &wo, &err));
        static float data[300000];
        fill(data, 300000, 9);
        uint64_t shape[1] = {300000};
        trove_tensor_spec sp = {"w", TROVE_FLOAT32, 1, shape, 0, 0};
        CHECK_OK(trove_writer_add(w, &sp, data, &err));
        CHECK_OK(trove_writer_commit(w, &err));
        trove_writer_free(w);
        trove_file *f = NULL;
        trove_tensor_info ti;
        CHECK_OK(trove_open(&f, path, NULL, &err));
        CHECK_OK(trove_file_tensor_info(f, 0, &ti));
        trove_close(f);
        size_t n;
        unsigned char *b = test_read_file(path, &n);
        CHECK(b);
        b[ti.offset + 1000] ^= 0x10;
        CHECK(test_write_file(path, b, n) == 0);
        free(b);
        CHECK_RC(trove_registry_push(r, path, "bad", NULL, NULL, &err), TROVE_E_CHECKSUM);
        CHECK(strstr(err.message, "tensor 'w'"));
    }
    trove_version *v = NULL;
    size_t nv = 0;
    CHECK_RC(trove_registry_log(r, "bad", &v, &nv, &err), TROVE_E_NOT_FOUND);
    /* non-zero padding is refused too */
    tspec ts[2] = {{"a", 3, 1, 0, 0}, {"b", 3, 2, 0, 0}};
    const char *pad = tpath("badpad.trove");
    CHECK(write_model(pad, ts, 2, NULL) == 0);
    trove_file *f = NULL;
    trove_tensor_info t1;
    CHECK_OK(trove_open(&f, pad, NULL, &err));
    CHECK_OK(trove_file_tensor_info(f, 1, &t1));
    trove_close(f);
    size_t n;
    unsigned char *b = test_read_file(pad, &n);
    CHECK(b);
    b[t1.offset - 1] = 1; /* the last padding byte before tensor b */
    CHECK(test_write_file(pad, b, n) == 0);
    free(b);
    CHECK_RC(trove_registry_push(r, pad, "bad", NULL, NULL, &err), TROVE_E_CHECKSUM);
    CHECK(strstr(err.message, "padding"));
    fsck_count fc;
    CHECK_OK(fsck(r, &fc));
    trove_registry_close(r);
}

/* The layout parser on hostile bytes: every truncation and every single-byte change of a real
 * layout parses or is refused (TROVE_E_CORRUPT), never read out of bounds (ASan build), and
 * whatever parses adds up. */
static void test_registry__layout_parser_hostile(void)
{
    trove_error err = {0};
    const char *dir = fresh_dir();
    tspec ts[3] = {{"a", 1500000, 1, 0, 0}, {"b", 10, 2, TROVE_TENSOR_ZSTD, 0}, {"c", 0, 3, 0, 0}};
    CHECK(write_model(tpath("lay.trove"), ts, 3, NULL) == 0);
    trove_registry *r = open_reg(dir, NULL);
    CHECK(r);
    CHECK_OK(trove_registry_push(r, tpath("lay.trove"), "lay", NULL, NULL, &err));
    trove_registry_close(r);
    char db[600];
    snprintf(db, sizeof db, "%s/catalog.db", dir);
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_open(db, &h) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(h, "SELECT layout FROM versions", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    uint8_t *good = malloc(n), *buf = malloc(n);
    CHECK(good && buf);
    memcpy(good, sqlite3_column_blob(st, 0), n);
    sqlite3_finalize(st);
    sqlite3_close(h);
    trove__manifest m;
    CHECK_OK(trove__manifest_parse(NULL, good, n, &m, &err));
    CHECK(m.nseg == 3 && m.segs[0].nchunks == 2 && m.segs[2].nchunks == 0);
    trove__manifest_free(NULL, &m);
    size_t parsed = 0;
    for (size_t len = 0; len < n; len++) { /* every truncation, on an exact-size copy */
        uint8_t *t = malloc(len ? len : 1);
        memcpy(t, good, len);
        int rc = trove__manifest_parse(NULL, t, len, &m, &err);
        free(t);
        CHECK(rc == TROVE_E_CORRUPT);
    }
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(buf, good, n);
            buf[i] ^= (uint8_t)(1u << bit);
            int rc = trove__manifest_parse(NULL, buf, n, &m, &err);
            CHECK(rc == TROVE_OK || rc == TROVE_E_CORRUPT);
            if (rc == TROVE_OK) {
                uint64_t total = m.tail_gap;
                for (size_t k = 0; k < m.nseg; k++)
                    total += m.segs[k].gap + m.segs[k].stored;
                CHECK(total == m.file_bytes);
                trove__manifest_free(NULL, &m);
                parsed++;
            }
        }
    }
    printf("  layout: %zu bytes, %zu truncations refused, %zu of %zu flips still parse (ids)\n",
           n, n, parsed, 3 * n);
    free(good);
    free(buf);
}

static void test_registry__refs(void)
{
    trove_error err = {0};
    const char *m1 = tpath("ref1.trove"), *m2 = tpath("ref2.trove");
    unsigned s2[3] = {1, 2, 9};
    CHECK(write_simple(m1, 3, 1000, NULL) == 0);
    CHECK(write_simple(m2, 3, 1000, s2) == 0);
    trove_registry *r = open_reg(fresh_dir(), NULL);
    CHECK(r);
    trove_version *v1 = NULL, *v2 = NULL, *x = NULL;
    trove_push_options po = TROVE_PUSH_OPTIONS_INIT;
    po.alias = "prod";
    CHECK_OK(trove_registry_push(r, m1, "net", &po, &v1, &err));
    CHECK(v1->aliases && !strcmp(v1->aliases, "prod"));
    CHECK_OK(trove_registry_push(r, m2, "net", NULL, &v2, &err));
    CHECK(v2->number == 2);
    CHECK_OK(trove_registry_resolve(r, "net", &x, &err));
    CHECK(x->number == 2);
    trove_registry_versions_free(r, x, 1);
    CHECK_OK(trove_registry_resolve(r, "net:1", &x, &err));
    CHECK(x->number == 1);
    trove_registry_versions_free(r, x, 1);
    CHECK_OK(trove_registry_resolve(r, "net@prod", &x, &err));
    CHECK(x->number == 1);
    trove_registry_versions_free(r, x, 1);
    char hx[65];
    hex(v2->digest, 32, hx);
    hx[10] = '\0';
    CHECK_OK(trove_registry_resolve(r, hx, &x, &err));
    CHECK(x->number == 2 && memcmp(x->digest, v2->digest, 32) == 0);
    trove_registry_versions_free(r, x, 1);
    CHECK_RC(trove_registry_resolve(r, "net:3", &x, &err), TROVE_E_NOT_FOUND);
    CHECK(strstr(err.message, "no version 3"));
    CHECK_RC(trove_registry_resolve(r, "net@staging", &x, &err), TROVE_E_NOT_FOUND);
    CHECK_RC(trove_registry_resolve(r, "nope", &x, &err), TROVE_E_NOT_FOUND);
    CHECK_RC(trove_registry_resolve(r, "net:0", &x, &err), TROVE_E_INVALID);
    CHECK_RC(trove_registry_resolve(r, "net:x", &x, &err), TROVE_E_INVALID);
    CHECK_RC(trove_registry_resolve(r, "ffffffffff", &x, &err), TROVE_E_NOT_FOUND);
    CHECK_RC(trove_registry_push(r, m1, "bad name", NULL, NULL, &err), TROVE_E_INVALID);
    CHECK_RC(trove_registry_push(r, m1, "../up", NULL, NULL, &err), TROVE_E_INVALID);
    CHECK_RC(trove_registry_push(r, m1, "", NULL, NULL, &err), TROVE_E_INVALID);
    CHECK_RC(trove_registry_push(r, tpath("missing.trove"), "net", NULL, NULL, &err),
             TROVE_E_IO);
    /* Not a trove file: refused before anything is stored. */
    CHECK(test_write_file(tpath("junk.bin"), "hello, not a model", 18) == 0);
    CHECK(trove_registry_push(r, tpath("junk.bin"), "net", NULL, NULL, &err) != TROVE_OK);
    /* Same file under two names: a digest prefix that names both stays usable (same bytes). */
    CHECK_OK(trove_registry_push(r, m1, "copy", NULL, NULL, &err));
    hex(v1->digest, 32, hx);
    hx[8] = '\0';
    CHECK_OK(trove_registry_resolve(r, hx, &x, &err));
    trove_registry_versions_free(r, x, 1);
    trove_registry_versions_free(r, v1, 1);
    trove_registry_versions_free(r, v2, 1);
    trove_registry_close(r);
}

static void test_registry__aliases_history_rm(void)
{
    trove_error err = {0};
    const char *dir = fresh_dir();
    trove_registry *r = open_reg(dir, NULL);
    CHECK(r);
    for (unsigned k = 1; k <= 3; k++) {
        unsigned seeds[2] = {k, 100 + k};
        char p[64];
        snprintf(p, sizeof p, "al%u.trove", k);
        CHECK(write_simple(tpath(p), 2, 500, seeds) == 0);
        CHECK_OK(trove_registry_push(r, tpath(p), "svc", NULL, NULL, &err));
    }
    CHECK_OK(trove_registry_alias(r, "svc", "prod", 1, "alice", &err));
    CHECK_OK(trove_registry_alias(r, "svc", "prod", 3, "bob", &err));
    CHECK_OK(trove_registry_alias(r, "svc", "staging", 2, "bob", &err));
    CHECK_OK(trove_registry_alias(r, "svc", "prod", 1, "carol", &err)); /* rollback */
    CHECK_RC(trove_registry_alias(r, "svc", "prod", 9, "x", &err), TROVE_E_NOT_FOUND);
    CHECK_RC(trove_registry_alias(r, "svc", "12", 1, "x", &err), TROVE_E_INVALID);
    CHECK_RC(trove_registry_alias(r, "nomodel", "prod", 1, "x", &err), TROVE_E_NOT_FOUND);
    trove_alias_move *m = NULL;
    size_t n = 0;
    CHECK_OK(trove_registry_alias_history(r, "svc", &m, &n, &err));
    CHECK(n == 4);
    CHECK(!strcmp(m[0].alias, "prod") && m[0].from == 0 && m[0].to == 1);
    CHECK(!strcmp(m[0].who, "alice"));
    CHECK(m[1].from == 1 && m[1].to == 3 && !strcmp(m[1].who, "bob"));
    CHECK(!strcmp(m[2].alias, "staging") && m[2].to == 2);
    CHECK(m[3].from == 3 && m[3].to == 1 && !strcmp(m[3].who, "carol"));
    CHECK(m[3].at >= m[0].at && m[0].at > 1700000000);
    trove_registry_alias_moves_free(r, m, n);
    /* rm is refused while an alias points at the version */
    CHECK_RC(trove_registry_rm(r, "svc:1", 0, &err), TROVE_E_STATE);
    CHECK(strstr(err.message, "prod"));
    CHECK_RC(trove_registry_rm(r, "svc@staging", 0, &err), TROVE_E_STATE);
    CHECK_OK(trove_registry_rm(r, "svc:3", 0, &err)); /* no alias left on 3 */
    CHECK_OK(trove_registry_rm(r, "svc:2", TROVE_RM_FORCE, &err));
    trove_version *v = NULL;
    CHECK_OK(trove_registry_log(r, "svc", &v, &n, &err));
    CHECK(n == 1 && v[0].number == 1 && v[0].aliases && !strcmp(v[0].aliases, "prod"));
    trove_registry_versions_free(r, v, n);
    CHECK_OK(trove_registry_alias_history(r, "svc", &m, &n, &err));
    CHECK(n == 5 && !strcmp(m[4].alias, "staging") && m[4].from == 2 && m[4].to == 0);
    trove_registry_alias_moves_free(r, m, n);
    /* numbers are never reused: the next push is 4 although 2 and 3 were removed */
    unsigned seeds[2] = {77, 78};
    CHECK(write_simple(tpath("al4.trove"), 2, 500, seeds) == 0);
    trove_version *nv = NULL;
    CHECK_OK(trove_registry_push(r, tpath("al4.trove"), "svc", NULL, &nv, &err));
    CHECK(nv->number == 4);
    trove_registry_versions_free(r, nv, 1);
    /* delete an alias */
    CHECK_OK(trove_registry_alias(r, "svc", "prod", 0, "dave", &err));
    CHECK_RC(trove_registry_resolve(r, "svc@prod", &nv, &err), TROVE_E_NOT_FOUND);
    fsck_count fc;
    CHECK_OK(fsck(r, &fc));
    trove_registry_close(r);
}

static void test_registry__lineage_metrics(void)
{
    trove_error err = {0};
    const char *m1 = tpath("lin1.trove"), *m2 = tpath("lin2.trove");
    const char *m3 = tpath("lin3.trove");
    unsigned s2[2] = {5, 6}, s3[2] = {7, 8};
    trove_value *meta = trove_value_map(NULL), *metrics = trove_value_map(NULL);
    CHECK(trove_value_map_set(metrics, "acc", trove_value_float(NULL, 0.5)) == 0);
    CHECK(trove_value_map_set(meta, "metrics", metrics) == 0);
    tspec ts[1] = {{"w", 100, 1, 0, 0}};
    CHECK(write_model(m1, ts, 1, meta) == 0);
    CHECK(write_simple(m2, 2, 100, s2) == 0);
    trove_registry *r = open_reg(fresh_dir(), NULL);
    CHECK(r);
    trove_version *v1 = NULL, *v2 = NULL, *v3 = NULL;
    const char *kv[] = {"f1=0.75", "note=best run", "epochs=3"};
    trove_push_options po = TROVE_PUSH_OPTIONS_INIT;
    po.metrics = kv;
    po.n_metrics = 3;
    po.message = "first";
    po.author = "tester";
    po.data_digest = "sha256:abc";
    CHECK_OK(trove_registry_push(r, m1, "lin", &po, &v1, &err));
    CHECK(strstr(v1->metrics_json, "\"acc\":0.5"));
    CHECK(strstr(v1->metrics_json, "\"f1\":0.75"));
    CHECK(strstr(v1->metrics_json, "\"note\":\"best run\""));
    CHECK(strstr(v1->metrics_json, "\"epochs\":3"));
    CHECK(!strcmp(v1->author, "tester") && !strcmp(v1->message, "first"));
    CHECK(!strcmp(v1->data_digest, "sha256:abc"));
    CHECK(!strcmp(v1->signature, "unsigned"));
    CHECK(!v1->has_parent_digest && !v1->parent);
    trove_push_options p2 = TROVE_PUSH_OPTIONS_INIT;
    p2.parent = "lin:1";
    CHECK_OK(trove_registry_push(r, m2, "lin", &p2, &v2, &err));
    CHECK(v2->parent && !strcmp(v2->parent, "lin:1"));
    CHECK(v2->has_parent_digest && memcmp(v2->parent_digest, v1->digest, 32) == 0);
    p2.parent = "lin:9";
    CHECK_RC(trove_registry_push(r, m1, "lin2", &p2, NULL, &err), TROVE_E_NOT_FOUND);
    const char *bad[] = {"novalue"};
    trove_push_options p3 = TROVE_PUSH_OPTIONS_INIT;
    p3.metrics = bad;
    p3.n_metrics = 1;
    CHECK_RC(trove_registry_push(r, m2, "lin3", &p3, NULL, &err), TROVE_E_INVALID);
    /* lineage from the file's metadata: parent digest and training data */
    trove_value *lm = trove_value_map(NULL), *lin = trove_value_map(NULL);
    CHECK(trove_value_map_set(lin, "parent", trove_value_bytes(NULL, v2->digest, 32)) == 0);
    CHECK(trove_value_map_set(lin, "training_data", trove_value_cstring(NULL, "data-v7")) == 0);
    CHECK(trove_value_map_set(lm, "lineage", lin) == 0);
    tspec t3[2] = {{"a", 10, s3[0], 0, 0}, {"b", 10, s3[1], 0, 0}};
    CHECK(write_model(m3, t3, 2, lm) == 0);
    CHECK_OK(trove_registry_push(r, m3, "lin", NULL, &v3, &err));
    CHECK(v3->has_parent_digest && memcmp(v3->parent_digest, v2->digest, 32) == 0);
    CHECK(v3->data_digest && !strcmp(v3->data_digest, "data-v7"));
    /* the stored row survives a reopen unchanged */
    trove_registry_close(r);
    trove_registry_versions_free(NULL, v1, 1);
    trove_registry_versions_free(NULL, v2, 1);
    trove_registry_versions_free(NULL, v3, 1);
}

/* 10 versions of a 40-tensor model, each changing 2 tensors (5%): storage <= 1.6x one model. */
static void test_registry__dedup_accounting(void)
{
    trove_error err = {0};
    const char *dir = fresh_dir();
    trove_registry *r = open_reg(dir, NULL);
    CHECK(r);
    enum { NT = 40, ELEMS = 65536 }; /* 256 KiB per tensor, 10 MiB per model */
    unsigned seeds[NT];
    for (unsigned i = 0; i < NT; i++)
        seeds[i] = i + 1;
    uint64_t one = 0, logical = 0;
    for (unsigned v = 1; v <= 10; v++) {
        if (v > 1)
            for (unsigned j = 0; j < 2; j++)
                seeds[((v - 2) * 2 + j) % NT] += 1000;
        char p[64];
        snprintf(p, sizeof p, "dd%u.trove", v);
        CHECK(write_simple(tpath(p), NT, ELEMS, seeds) == 0);
        struct stat st;
        CHECK(stat(tpath(p), &st) == 0);
        logical += (uint64_t)st.st_size;
        if (v == 1)
            one = (uint64_t)st.st_size;
        CHECK_OK(trove_registry_push(r, tpath(p), "dd", NULL, NULL, &err));
    }
    trove_registry_stats s;
    CHECK_OK(trove_registry_stat(r, &s, &err));
    CHECK(s.versions == 10);
    CHECK(s.logical_bytes == logical);
    double ratio = (double)s.blob_bytes / (double)one;
    printf("  dedup: 10 versions = %.3fx one model (%llu / %llu bytes)\n", ratio,
           (unsigned long long)s.blob_bytes, (unsigned long long)one);
    CHECK(ratio <= 1.6);
    CHECK(ratio >= 1.0 + 9 * 0.05 * 0.9); /* the changed tensors really are stored */
    /* every version still comes back byte for byte */
    for (unsigned v = 1; v <= 10; v += 3) {
        char ref[32], p[64];
        snprintf(ref, sizeof ref, "dd:%u", v);
        snprintf(p, sizeof p, "dd%u.trove", v);
        CHECK_OK(trove_registry_pull(r, ref, tpath("dd.out"), NULL, &err));
        CHECK(files_equal(tpath(p), tpath("dd.out")));
    }
    trove_registry_close(r);
}

static void test_registry__gc(void)
{
    trove_error err = {0};
    const char *dir = fresh_dir();
    trove_registry *r = open_reg(dir, NULL);
    CHECK(r);
    unsigned sa[3] = {1, 2, 3}, sb[3] = {1, 2, 4};
    CHECK(write_simple(tpath("gca.trove"), 3, 100000, sa) == 0);
    CHECK(write_simple(tpath("gcb.trove"), 3, 100000, sb) == 0);
    CHECK_OK(trove_registry_push(r, tpath("gca.trove"), "g", NULL, NULL, &err));
    uint64_t bytes_a = 0;
    int blobs_a = count_blobs(dir, &bytes_a);
    CHECK_OK(trove_registry_push(r, tpath("gcb.trove"), "g", NULL, NULL, &err));
    int blobs_ab = count_blobs(dir, NULL);
    CHECK(blobs_ab == blobs_a + 2); /* one new tensor + a new framing blob */
    /* a stale temporary file, as a killed push leaves it */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s/blobs/00", dir);
    mkdir(tmp, 0700);
    snprintf(tmp, sizeof tmp, "%s/blobs/00/.00ab.tmp-XXXXXX", dir);
    CHECK(test_write_file(tmp, "partial", 7) == 0);
    trove_registry_stats st;
    CHECK_OK(trove_registry_gc(r, &st, &err));
    CHECK(st.removed_blobs == 1); /* only the temporary file */
    CHECK(access(tmp, F_OK) != 0);
    CHECK_OK(trove_registry_rm(r, "g:2", 0, &err));
    CHECK_OK(trove_registry_gc(r, &st, &err));
    CHECK(st.removed_blobs == 2);
    uint64_t bytes_after = 0;
    CHECK(count_blobs(dir, &bytes_after) == blobs_a);
    CHECK(bytes_after == bytes_a);
    CHECK_OK(trove_registry_pull(r, "g:1", tpath("gc.out"), NULL, &err));
    CHECK(files_equal(tpath("gca.trove"), tpath("gc.out")));
    fsck_count fc;
    CHECK_OK(fsck(r, &fc));
    CHECK(fc.notes == 0);
    trove_registry_close(r);
}

/* A damaged blob: pull refuses it and writes nothing; fsck names it and the version. */
static void test_registry__damaged_blob(void)
{
    trove_error err = {0};
    const char *dir = fresh_dir(), *out = tpath("dmg.out");
    CHECK(write_simple(tpath("dmg.trove"), 3, 200000, NULL) == 0);
    trove_registry *r = open_reg(dir, NULL);
    CHECK(r);
    CHECK_OK(trove_registry_push(r, tpath("dmg.trove"), "d", NULL, NULL, &err));
    /* Damage the largest blob on disk (a tensor chunk). */
    char big[1000] = "";
    long long best = -1;
    char sub[600];
    for (int b = 0; b < 256; b++) {
        snprintf(sub, sizeof sub, "%s/blobs/%02x", dir, b);
        DIR *d = opendir(sub);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char p[1000];
            snprintf(p, sizeof p, "%s/%s", sub, e->d_name);
            struct stat st;
            if (stat(p, &st) == 0 && st.st_size > best) {
                best = st.st_size;
                snprintf(big, sizeof big, "%s", p);
            }
        }
        closedir(d);
    }
    CHECK(best > 0);
    chmod(big, 0600);
    size_t bn;
    unsigned char *bb = test_read_file(big, &bn);
    CHECK(bb);
    bb[bn / 2] ^= 0x40;
    CHECK(test_write_file(big, bb, bn) == 0);
    free(bb);
    CHECK_RC(trove_registry_pull(r, "d", out, NULL, &err), TROVE_E_CHECKSUM);
    CHECK(strstr(err.message, "damaged"));
    CHECK(access(out, F_OK) != 0); /* never served */
    {   /* the re-hashing pull (BLAKE2b of every blob) detects it too, and names the blob */
        trove_registry_options o = TROVE_REGISTRY_OPTIONS_INIT;
        o.flags = TROVE_REGISTRY_REHASH;
        trove_registry *fr = NULL;
        CHECK_OK(trove_registry_open(&fr, dir, &o, &err));
        int frc = trove_registry_pull(fr, "d", out, NULL, &err);
        trove_registry_close(fr);
        CHECK(frc == TROVE_E_CHECKSUM);
        const char *slash = strrchr(big, '/');
        CHECK(strstr(err.message, slash + 1) && strstr(err.message, "damaged"));
        CHECK(access(out, F_OK) != 0);
    }
    fsck_count fc;
    CHECK_RC(fsck(r, &fc), TROVE_E_CHECKSUM);
    CHECK(fc.damaged == 1 && strstr(fc.first, "needed by d:1"));
    /* fsck --repair removes the damaged blob: it is then missing */
    {
        fsck_count rc2 = {0};
        trove_registry_stats rst;
        int frc = trove_registry_fsck(r, TROVE_FSCK_REPAIR, on_fsck, &rc2, &rst, &err);
        CHECK(frc == TROVE_E_CHECKSUM && rc2.damaged == 1 && rc2.notes == 1);
        CHECK(access(big, F_OK) != 0);
    }
    CHECK(trove_registry_pull(r, "d", out, NULL, &err) != TROVE_OK);
    CHECK(strstr(err.message, "missing"));
    CHECK(access(out, F_OK) != 0);
    CHECK_RC(fsck(r, &fc), TROVE_E_CHECKSUM);
    CHECK(fc.damaged == 1 && strstr(fc.first, "missing"));
    /* pushing the same file again repairs the store */
    CHECK_OK(trove_registry_push(r, tpath("dmg.trove"), "d", NULL, NULL, &err));
    CHECK_OK(fsck(r, &fc));
    CHECK_OK(trove_registry_pull(r, "d", out, NULL, &err));
    CHECK(files_equal(tpath("dmg.trove"), out));
    trove_registry_close(r);
}

static int sql(const char *dir, const char *stmt)
{
    char db[600];
    snprintf(db, sizeof db, "%s/catalog.db", dir);
    sqlite3 *h = NULL;
    int rc = sqlite3_open(db, &h);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(h, stmt, NULL, NULL, NULL);
    int changes = sqlite3_changes(h);
    sqlite3_close(h);
    return rc == SQLITE_OK ? changes : -1;
}

/* A tampered catalog row: pull and fsck detect it through the row checksum. */
static void test_registry__damaged_row(void)
{
    trove_error err = {0};
    const char *dir = fresh_dir(), *out = tpath("row.out");
    unsigned s2[2] = {3, 4};
    CHECK(write_simple(tpath("row1.trove"), 2, 1000, NULL) == 0);
    CHECK(write_simple(tpath("row2.trove"), 2, 1000, s2) == 0);
    trove_registry *r = open_reg(dir, NULL);
    CHECK(r);
    trove_version *v2 = NULL;
    CHECK_OK(trove_registry_push(r, tpath("row1.trove"), "row", NULL, NULL, &err));
    CHECK_OK(trove_registry_push(r, tpath("row2.trove"), "row", NULL, &v2, &err));
    fsck_count fc;
    CHECK_OK(fsck(r, &fc));
    /* 1. an edited message */
    CHECK(sql(dir, "UPDATE versions SET message = 'forged' WHERE number = 1") == 1);
    CHECK_RC(trove_registry_pull(r, "row:1", out, NULL, &err), TROVE_E_CHECKSUM);
    CHECK(strstr(err.message, "row:1") && strstr(err.message, "damaged"));
    CHECK(access(out, F_OK) != 0);
    CHECK_RC(fsck(r, &fc), TROVE_E_CHECKSUM);
    CHECK(fc.damaged == 1 && strstr(fc.first, "row:1"));
    CHECK_OK(trove_registry_pull(r, "row:2", out, NULL, &err)); /* the other one still works */
    CHECK(files_equal(out, tpath("row2.trove")));
    CHECK(unlink(out) == 0);
    CHECK(sql(dir, "UPDATE versions SET message = '' WHERE number = 1") == 1);
    CHECK_OK(fsck(r, &fc)); /* restored */
    /* 2. version 1 made to claim version 2's digest and layout */
    CHECK(sql(dir, "UPDATE versions SET digest = (SELECT digest FROM versions WHERE number = 2),"
                   " layout = (SELECT layout FROM versions WHERE number = 2) "
                   "WHERE number = 1") == 1);
    CHECK_RC(trove_registry_pull(r, "row:1", out, NULL, &err), TROVE_E_CHECKSUM);
    CHECK_RC(fsck(r, &fc), TROVE_E_CHECKSUM);
    /* 3. a digest column of the wrong size */
    CHECK(sql(dir, "UPDATE versions SET digest = x'0102' WHERE number = 2") == 1);
    CHECK_RC(trove_registry_pull(r, "row:2", out, NULL, &err), TROVE_E_CHECKSUM);
    CHECK_RC(fsck(r, &fc), TROVE_E_CHECKSUM);
    CHECK(fc.damaged == 2);
    trove_registry_versions_free(r, v2, 1);
    trove_registry_close(r);
    /* 4. a lost blob reference (gc would then remove a needed blob): fsck reports it */
    const char *dir2 = fresh_dir();
    r = open_reg(dir2, NULL);
    CHECK(r);
    CHECK_OK(trove_registry_push(r, tpath("row1.trove"), "row", NULL, NULL, &err));
    CHECK(sql(dir2, "DELETE FROM version_blobs WHERE blob = (SELECT min(blob) FROM "
                    "version_blobs)") == 1);
    CHECK_RC(fsck(r, &fc), TROVE_E_CHECKSUM);
    CHECK(strstr(fc.first, "blob references"));
    trove_registry_close(r);
}

/* 4 processes x 25 rounds of push + pull on one model, then every version is whole. */
static void test_registry__concurrent_processes(void)
{
    const char *dir = fresh_dir();
    trove_registry *r0 = open_reg(dir, NULL); /* create it once */
    CHECK(r0);
    trove_registry_close(r0);
    enum { PROCS = 4, ROUNDS = 25 };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        CHECK(pids[p] >= 0);
        if (pids[p] == 0) {
            int bad = 0;
            trove_registry *r = open_reg(dir, NULL);
            if (!r)
                _exit(10);
            for (int k = 0; k < ROUNDS && !bad; k++) {
                char path[600], out[600];
                snprintf(path, sizeof path, "%s/c%d_%d.trove", test_tmpdir(), p, k);
                snprintf(out, sizeof out, "%s/c%d_%d.out", test_tmpdir(), p, k);
                /* shared tensors across processes + one unique tensor per push */
                unsigned seeds[4] = {1, 2, (unsigned)(1000 + p * 100 + k), (unsigned)k % 3 + 5};
                trove_error err = {0};
                trove_version *v = NULL;
                if (write_simple(path, 4, 20000, seeds) != 0 ||
                    trove_registry_push(r, path, "shared", NULL, &v, &err) != TROVE_OK) {
                    fprintf(stderr, "push %d/%d: %s\n", p, k, err.message);
                    bad = 1;
                    break;
                }
                char ref[64];
                snprintf(ref, sizeof ref, "shared:%lld", (long long)v->number);
                trove_registry_versions_free(r, v, 1);
                if (trove_registry_pull(r, ref, out, NULL, &err) != TROVE_OK ||
                    !files_equal(path, out)) {
                    fprintf(stderr, "pull %d/%d: %s\n", p, k, err.message);
                    bad = 1;
                }
                /* and someone else's latest version */
                if (trove_registry_pull(r, "shared", out, NULL, &err) != TROVE_OK) {
                    fprintf(stderr, "pull latest %d/%d: %s\n", p, k, err.message);
                    bad = 1;
                }
            }
            trove_registry_close(r);
            _exit(bad);
        }
    }
    int failed = 0;
    for (int p = 0; p < PROCS; p++) {
        int st = 0;
        waitpid(pids[p], &st, 0);
        failed += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("  %d processes x %d push+pull: %.2f s\n", PROCS, ROUNDS,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    CHECK(failed == 0);
    trove_error err = {0};
    trove_registry *r = open_reg(dir, NULL);
    CHECK(r);
    trove_version *v = NULL;
    size_t n = 0;
    CHECK_OK(trove_registry_log(r, "shared", &v, &n, &err));
    CHECK(n == PROCS * ROUNDS); /* no lost version */
    for (size_t i = 0; i < n; i++)
        CHECK(v[i].number == (int64_t)i + 1); /* numbered 1..100 without gaps or duplicates */
    trove_registry_versions_free(r, v, n);
    fsck_count fc;
    CHECK_OK(fsck(r, &fc));
    CHECK(fc.damaged == 0 && fc.notes == 0);
    trove_registry_close(r);
}

static long rand_us(long max)
{
    return (long)((unsigned long)rand() % (unsigned long)max);
}

/* SIGKILL a pushing child at random moments: afterwards fsck is clean, the registry holds the
 * versions that completed (each pulls byte for byte) and never a half one. */
static void test_registry__kill_during_push(void)
{
    trove_error err = {0};
    const char *dir = fresh_dir();
    trove_registry *r = open_reg(dir, NULL);
    CHECK(r);
    trove_registry_close(r);
    /* Calibrate: how long one push takes here, so kills land before, during and after it. */
    CHECK(write_simple(tpath("kcal.trove"), 6, (UINT64_C(3) << 20) / 4, NULL) == 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = open_reg(dir, NULL);
    CHECK(r);
    CHECK_OK(trove_registry_push(r, tpath("kcal.trove"), "cal", NULL, NULL, &err));
    trove_registry_close(r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long push_us = (long)((t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000);
    srand(12345);
    int rounds = 12;
    for (int k = 0; k < rounds; k++) {
        char path[600];
        snprintf(path, sizeof path, "%s/kill%d.trove", test_tmpdir(), k);
        unsigned seeds[6] = {1, 2, 3, (unsigned)(500 + k), (unsigned)(600 + k),
                             (unsigned)(700 + k)};
        CHECK(write_simple(path, 6, (UINT64_C(3) << 20) / 4, seeds) == 0); /* 18 MiB */
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            trove_registry *c = open_reg(dir, NULL);
            trove_error e = {0};
            int rc = c ? trove_registry_push(c, path, "k", NULL, NULL, &e) : -1;
            trove_registry_close(c);
            _exit(rc ? 1 : 0);
        }
        usleep((useconds_t)rand_us(push_us * 3 / 2 + 1));
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        r = open_reg(dir, NULL);
        CHECK(r);
        fsck_count fc;
        CHECK_OK(fsck(r, &fc));
        trove_version *v = NULL;
        size_t n = 0;
        if (trove_registry_log(r, "k", &v, &n, &err) == TROVE_OK) {
            for (size_t i = 0; i < n; i++) {
                char ref[32];
                snprintf(ref, sizeof ref, "k:%lld", (long long)v[i].number);
                CHECK_OK(trove_registry_pull(r, ref, tpath("kill.out"), NULL, &err));
                uint8_t d[32];
                CHECK(file_digest(tpath("kill.out"), d) == 0);
                CHECK(memcmp(d, v[i].digest, 32) == 0);
            }
            trove_registry_versions_free(r, v, n);
        }
        trove_registry_close(r);
    }
    /* gc clears what the killed pushes left; fsck then has not even a note */
    r = open_reg(dir, NULL);
    CHECK(r);
    trove_registry_stats st;
    CHECK_OK(trove_registry_gc(r, &st, &err));
    fsck_count fc;
    CHECK_OK(fsck(r, &fc));
    CHECK(fc.notes == 0);
    trove_version *all = NULL;
    size_t nall = 0;
    if (trove_registry_log(r, "k", &all, &nall, &err) != TROVE_OK)
        nall = 0;
    trove_registry_versions_free(r, all, nall);
    printf("  kill during push (one push: %ld ms): %zu of %d killed pushes had committed; gc "
           "removed %llu leftovers\n", push_us / 1000, nall, rounds,
           (unsigned long long)st.removed_blobs);
    trove_registry_close(r);
}

/* SIGKILL gc at random moments: what it leaves is consistent, and kept versions still pull. */
static void test_registry__kill_during_gc(void)
{
    trove_error err = {0};
    const char *dir = fresh_dir();
    trove_registry *r = open_reg(dir, NULL);
    CHECK(r);
    for (unsigned k = 0; k < 8; k++) {
        unsigned seeds[4] = {1, 10 + k, 20 + k, 30 + k};
        char p[64];
        snprintf(p, sizeof p, "kg%u.trove", k);
        CHECK(write_simple(tpath(p), 4, (UINT64_C(2) << 20) / 4, seeds) == 0);
        CHECK_OK(trove_registry_push(r, tpath(p), "kg", NULL, NULL, &err));
    }
    for (unsigned k = 1; k <= 7; k += 2) {
        char ref[16];
        snprintf(ref, sizeof ref, "kg:%u", k);
        CHECK_OK(trove_registry_rm(r, ref, 0, &err));
    }
    trove_registry_close(r);
    srand(777);
    for (int round = 0; round < 6; round++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            trove_registry *c = open_reg(dir, NULL);
            trove_error e = {0};
            int rc = c ? trove_registry_gc(c, NULL, &e) : -1;
            trove_registry_close(c);
            _exit(rc ? 1 : 0);
        }
        usleep((useconds_t)rand_us(20000));
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        r = open_reg(dir, NULL);
        CHECK(r);
        fsck_count fc;
        CHECK_OK(fsck(r, &fc));
        for (unsigned k = 0; k < 8; k += 2) {
            char ref[16], p[64];
            snprintf(ref, sizeof ref, "kg:%u", k + 2);
            snprintf(p, sizeof p, "kg%u.trove", k + 1);
            CHECK_OK(trove_registry_pull(r, ref, tpath("kg.out"), NULL, &err));
            CHECK(files_equal(tpath(p), tpath("kg.out")));
        }
        trove_registry_close(r);
    }
    r = open_reg(dir, NULL);
    CHECK(r);
    CHECK_OK(trove_registry_gc(r, NULL, &err));
    fsck_count fc;
    CHECK_OK(fsck(r, &fc));
    CHECK(fc.notes == 0);
    trove_registry_close(r);
}

/* gc racing pushes that reuse blobs of removed versions (the dangerous case: a push finds the
 * blob present and skips it, gc sees it unreferenced): the lock keeps every version whole. */
static void test_registry__gc_concurrent_with_push(void)
{
    trove_error err = {0};
    const char *dir = fresh_dir();
    trove_registry *r = open_reg(dir, NULL);
    CHECK(r);
    enum { NF = 6 };
    char files[NF][600];
    for (int k = 0; k < NF; k++) {
        unsigned seeds[4] = {1, (unsigned)(10 + k), (unsigned)(20 + k), (unsigned)(30 + k % 2)};
        snprintf(files[k], sizeof files[k], "%s/gcr%d.trove", test_tmpdir(), k);
        CHECK(write_simple(files[k], 4, 65536, seeds) == 0);
        CHECK_OK(trove_registry_push(r, files[k], "gcr", NULL, NULL, &err));
    }
    for (int k = 1; k <= NF; k++) {
        char ref[32];
        snprintf(ref, sizeof ref, "gcr:%d", k);
        CHECK_OK(trove_registry_rm(r, ref, 0, &err)); /* every blob is now garbage */
    }
    trove_registry_close(r);
    pid_t pusher = fork();
    CHECK(pusher >= 0);
    if (pusher == 0) {
        trove_registry *c = open_reg(dir, NULL);
        int bad = !c;
        for (int round = 0; !bad && round < 24; round++) {
            trove_error e = {0};
            trove_version *v = NULL;
            if (trove_registry_push(c, files[round % NF], "gcr", NULL, &v, &e) != TROVE_OK) {
                fprintf(stderr, "push: %s\n", e.message);
                bad = 1;
                break;
            }
            char ref[32];
            snprintf(ref, sizeof ref, "gcr:%lld", (long long)v->number);
            trove_registry_versions_free(c, v, 1);
            if (round < 24 - NF && trove_registry_rm(c, ref, 0, &e) != TROVE_OK)
                bad = 1;
        }
        trove_registry_close(c);
        _exit(bad);
    }
    pid_t collector = fork();
    CHECK(collector >= 0);
    if (collector == 0) {
        trove_registry *c = open_reg(dir, NULL);
        int bad = !c;
        for (int i = 0; !bad && i < 40; i++) {
            trove_error e = {0};
            if (trove_registry_gc(c, NULL, &e) != TROVE_OK) {
                fprintf(stderr, "gc: %s\n", e.message);
                bad = 1;
            }
            usleep(2000);
        }
        trove_registry_close(c);
        _exit(bad);
    }
    int st1, st2;
    waitpid(pusher, &st1, 0);
    waitpid(collector, &st2, 0);
    CHECK(WIFEXITED(st1) && WEXITSTATUS(st1) == 0);
    CHECK(WIFEXITED(st2) && WEXITSTATUS(st2) == 0);
    r = open_reg(dir, NULL);
    CHECK(r);
    CHECK_OK(trove_registry_gc(r, NULL, &err));
    fsck_count fc;
    CHECK_OK(fsck(r, &fc));
    trove_version *v = NULL;
    size_t n = 0;
    CHECK_OK(trove_registry_log(r, "gcr", &v, &n, &err));
    CHECK(n == NF);
    for (size_t i = 0; i < n; i++) {
        char ref[32];
        snprintf(ref, sizeof ref, "gcr:%lld", (long long)v[i].number);
        CHECK_OK(trove_registry_pull(r, ref, tpath("gcr.out"), NULL, &err));
        int found = 0;
        for (int k = 0; k < NF; k++)
            found |= files_equal(files[k], tpath("gcr.out"));
        CHECK(found);
    }
    trove_registry_versions_free(r, v, n);
    trove_registry_close(r);
}

/* A full disk (simulated with RLIMIT_FSIZE): a clear error, and the registry as it was. */
static void test_registry__disk_full(void)
{
    trove_error err = {0};
    const char *dir = fresh_dir();
    unsigned s2[3] = {7, 8, 9};
    CHECK(write_simple(tpath("full1.trove"), 3, 1000, NULL) == 0);
    CHECK(write_simple(tpath("full2.trove"), 3, (UINT64_C(2) << 20) / 4, s2) == 0);
    trove_registry *r = open_reg(dir, NULL);
    CHECK(r);
    CHECK_OK(trove_registry_push(r, tpath("full1.trove"), "full", NULL, NULL, &err));
    trove_registry_close(r);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {1 << 20, 1 << 20}; /* no file may grow past 1 MiB */
        setrlimit(RLIMIT_FSIZE, &rl);
        trove_registry *c = open_reg(dir, NULL);
        trove_error e = {0};
        int rc = c ? trove_registry_push(c, tpath("full2.trove"), "full", NULL, NULL, &e) : 0;
        trove_registry_close(c);
        /* exit 0 only for the expected, clear error */
        _exit(rc == TROVE_E_IO && strstr(e.message, "cannot write") ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    r = open_reg(dir, NULL);
    CHECK(r);
    trove_version *v = NULL;
    size_t n = 0;
    CHECK_OK(trove_registry_log(r, "full", &v, &n, &err));
    CHECK(n == 1);
    trove_registry_versions_free(r, v, n);
    fsck_count fc;
    CHECK_OK(fsck(r, &fc));
    trove_registry_close(r);
    /* Now the catalog cannot grow (the blobs of a tiny model still fit): SQLite's error is
     * reported, the transaction rolls back, nothing changes. */
    unsigned s3[2] = {40, 41};
    CHECK(write_simple(tpath("full3.trove"), 2, 16, s3) == 0);
    long long lim = 4096; /* every blob of this model is smaller; a WAL frame is not */
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        trove_registry *c = open_reg(dir, NULL); /* opening writes nothing new */
        struct rlimit rl = {(rlim_t)lim, (rlim_t)lim};
        setrlimit(RLIMIT_FSIZE, &rl);
        trove_error e = {0};
        int rc = c ? trove_registry_push(c, tpath("full3.trove"), "full", NULL, NULL, &e) : 0;
        if (rc)
            fprintf(stderr, "  (expected: %s)\n", e.message);
        trove_registry_close(c);
        _exit(rc != TROVE_OK && strstr(e.message, "catalog") ? 0 : 1);
    }
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    r = open_reg(dir, NULL);
    CHECK(r);
    CHECK_OK(trove_registry_log(r, "full", &v, &n, &err));
    CHECK(n == 1);
    trove_registry_versions_free(r, v, n);
    CHECK_OK(fsck(r, &fc));
    CHECK_OK(trove_registry_push(r, tpath("full2.trove"), "full", NULL, NULL, &err));
    CHECK_OK(trove_registry_pull(r, "full:2", tpath("full.out"), NULL, &err));
    CHECK(files_equal(tpath("full2.trove"), tpath("full.out")));
    trove_registry_close(r);
}

static unsigned mode_of(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0xffffu;
}

static void test_registry__file_modes(void)
{
    trove_error err = {0};
    CHECK(write_simple(tpath("mode.trove"), 1, 100, NULL) == 0);
    mode_t old_umask = umask(077); /* the policy holds whatever the umask */
    for (int shared = 0; shared < 2; shared++) {
        const char *dir = fresh_dir();
        trove_registry_options o = TROVE_REGISTRY_OPTIONS_INIT;
        o.flags = TROVE_REGISTRY_CREATE | (shared ? TROVE_REGISTRY_SHARED : 0);
        trove_registry *r = NULL;
        CHECK_OK(trove_registry_open(&r, dir, &o, &err));
        trove_version *v = NULL;
        CHECK_OK(trove_registry_push(r, tpath("mode.trove"), "mode", NULL, &v, &err));
        trove_registry_versions_free(r, v, 1);
        char p[1000];
        CHECK(mode_of(dir) == (shared ? 02770u : 0700u));
        snprintf(p, sizeof p, "%s/catalog.db", dir);
        CHECK(mode_of(p) == (shared ? 0660u : 0600u));
        snprintf(p, sizeof p, "%s/lock", dir);
        CHECK(mode_of(p) == (shared ? 0660u : 0600u));
        snprintf(p, sizeof p, "%s/catalog.db-wal", dir);
        CHECK(mode_of(p) == (shared ? 0660u : 0600u));
        /* every blob */
        int seen = 0;
        for (int b = 0; b < 256; b++) {
            char sub[600];
            snprintf(sub, sizeof sub, "%s/blobs/%02x", dir, b);
            DIR *d = opendir(sub);
            if (!d)
                continue;
            CHECK(mode_of(sub) == (shared ? 02770u : 0700u));
            struct dirent *e;
            while ((e = readdir(d))) {
                if (e->d_name[0] == '.')
                    continue;
                snprintf(p, sizeof p, "%s/%s", sub, e->d_name);
                if (mode_of(p) != (shared ? 0440u : 0400u)) {
                    closedir(d);
                    CHECK(!"blob mode");
                }
                seen++;
            }
            closedir(d);
        }
        CHECK(seen >= 2);
        trove_registry_close(r);
    }
    umask(old_umask);
    /* opening a missing registry without CREATE */
    trove_registry *r = NULL;
    CHECK_RC(trove_registry_open(&r, tpath("no-such-registry"), NULL, &err),
             TROVE_E_NOT_FOUND);
}

/* ---- OOM tortures on two threads -------------------------------------------------------- */
/* A counting allocator that may be called from several threads at once (push, pull and fsck
 * allocate in their jobs; testlib's test_alloc counts without atomics, and a lost update there
 * reads as a leak). It fails allocation number fail_at (1-based; 0 = none) and, with every > 0,
 * each allocation whose number hashes (with seed) to 0 mod every: with two threads, which call
 * gets which number depends on the scheduling, so a loop over seeds meets the failure paths of
 * the jobs in many interleavings. */
typedef struct mt_alloc {
    trove_allocator a;
    atomic_long count, live, failed;
    long fail_at;
    uint64_t seed;
    unsigned every;
    bool helpers_only;        /* the seeded failures only on threads other than main's */
    pthread_t main;
} mt_alloc;

static int mt_fails(mt_alloc *t)
{
    long n = atomic_fetch_add(&t->count, 1) + 1;
    int fail = n == t->fail_at;
    if (t->every && (!t->helpers_only || !pthread_equal(pthread_self(), t->main))) {
        uint64_t z = t->seed + (uint64_t)n * 0x9e3779b97f4a7c15u; /* splitmix64 */
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        fail |= (z ^ (z >> 31)) % t->every == 0;
    }
    if (fail)
        atomic_fetch_add(&t->failed, 1);
    return fail;
}
static void *mt_malloc(void *ctx, size_t n)
{
    mt_alloc *t = ctx;
    if (mt_fails(t))
        return NULL;
    void *p = malloc(n);
    if (p)
        atomic_fetch_add(&t->live, 1);
    return p;
}
static void *mt_realloc(void *ctx, void *p, size_t n)
{
    mt_alloc *t = ctx;
    if (!p)
        return mt_malloc(ctx, n);
    return mt_fails(t) ? NULL : realloc(p, n);
}
static void mt_free(void *ctx, void *p)
{
    mt_alloc *t = ctx;
    if (p)
        atomic_fetch_sub(&t->live, 1);
    free(p);
}
static void mt_alloc_init(mt_alloc *t, long fail_at, uint64_t seed, unsigned every)
{
    memset(t, 0, sizeof *t);
    t->a = (trove_allocator){mt_malloc, mt_realloc, mt_free, t};
    atomic_init(&t->count, 0);
    atomic_init(&t->live, 0);
    atomic_init(&t->failed, 0);
    t->fail_at = fail_at;
    t->seed = seed;
    t->every = every;
    t->main = pthread_self();
}

/* Open file descriptors of this process. */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own */
}

/* Entries named like temporaries (".NAME.tmp-XXXXXX") in dir, and in its subdirectories when
 * deep. */
static long temps_under(const char *dir, bool deep)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (strstr(e->d_name, ".tmp-"))
            n++;
        else if (deep && lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            n += temps_under(p, deep);
    }
    closedir(d);
    return n;
}

static mode_t current_umask(void)
{
    mode_t um = umask(077);
    umask(um);
    return um;
}

/* Open dir with alloc on two threads, push model (as "oom"), pull it to out, log, fsck, close.
 * Returns the first failure (TROVE_OK when all succeeded). */
static int oom_run(const char *dir, const trove_allocator *alloc, bool sync, const char *model,
                   const char *out)
{
    trove_registry_options o = TROVE_REGISTRY_OPTIONS_INIT;
    o.flags = TROVE_REGISTRY_CREATE | (sync ? 0 : TROVE_REGISTRY_NO_SYNC);
    o.alloc = alloc;
    o.threads = 2;
    trove_registry *r = NULL;
    trove_error err = {0};
    int rc = trove_registry_open(&r, dir, &o, &err);
    if (rc == TROVE_OK) {
        trove_version *v = NULL;
        rc = trove_registry_push(r, model, "oom", NULL, &v, &err);
        trove_registry_versions_free(r, v, 1);
        if (rc == TROVE_OK)
            rc = trove_registry_pull(r, "oom", out, NULL, &err);
        trove_version *l = NULL;
        size_t n = 0;
        if (rc == TROVE_OK)
            rc = trove_registry_log(r, "oom", &l, &n, &err);
        trove_registry_versions_free(r, l, n);
        fsck_count fc;
        if (rc == TROVE_OK)
            rc = fsck(r, &fc);
    }
    trove_registry_close(r);
    if (rc != TROVE_OK && rc != TROVE_E_NOMEM)
        fprintf(stderr, "  %s\n", err.message);
    return rc;
}

/* After a run: nothing leaked (blocks, descriptors, temporaries, the umask), and rc is success
 * or out-of-memory. */
static int oom_clean(const mt_alloc *ta, int rc, int fds0, mode_t um0, const char *dir)
{
    long live = atomic_load(&ta->live);
    long temps = temps_under(dir, true) + temps_under(test_tmpdir(), false);
    int fds = count_fds();
    if (live == 0 && fds == fds0 && temps == 0 && current_umask() == um0 &&
        (rc == TROVE_OK || rc == TROVE_E_NOMEM) && (rc == TROVE_OK || atomic_load(&ta->failed)))
        return 1;
    fprintf(stderr, "  fail_at %ld seed %llu every %u: rc %d, %ld blocks, %d fds (was %d), "
            "%ld temporaries, umask %03o (was %03o)\n", ta->fail_at,
            (unsigned long long)ta->seed, ta->every, rc, live, fds, fds0, temps,
            (unsigned)current_umask(), (unsigned)um0);
    return 0;
}

/* A registry left by a failed run is consistent: fsck finds nothing damaged, and a push and pull
 * (with the default allocator) succeed and give back the same bytes. */
static int oom_consistent(const char *dir, const char *model, const char *out)
{
    trove_registry_options o = TROVE_REGISTRY_OPTIONS_INIT;
    o.flags = TROVE_REGISTRY_CREATE | TROVE_REGISTRY_NO_SYNC;
    trove_registry *r = NULL;
    trove_error err = {0};
    fsck_count fc;
    int rc = trove_registry_open(&r, dir, &o, &err);
    if (rc == TROVE_OK)
        rc = fsck(r, &fc);
    if (rc == TROVE_OK)
        rc = trove_registry_push(r, model, "oom", NULL, NULL, &err);
    if (rc == TROVE_OK)
        rc = trove_registry_pull(r, "oom", out, NULL, &err);
    trove_registry_close(r);
    if (rc != TROVE_OK)
        fprintf(stderr, "  registry %s after a failed run: %d %s\n", dir, rc, err.message);
    return rc == TROVE_OK && files_equal(model, out);
}

/* Fail every allocation of open, push, pull, log and fsck in turn, on two threads: an error or
 * success, never a crash or a leak. Which allocation is the n-th depends on the scheduling, so
 * the runs differ from one time to the next; what holds in every run is checked. */
static void test_registry__oom_torture(void)
{
    CHECK(write_simple(tpath("oom.trove"), 3, 3000, NULL) == 0);
    const char *dir = fresh_dir();
    int successes = 0, fds0 = count_fds();
    mode_t um0 = current_umask();
    for (long fail_at = 1; fail_at < 5000; fail_at++) {
        mt_alloc ta;
        mt_alloc_init(&ta, fail_at, 0, 0);
        int rc = oom_run(dir, &ta.a, false, tpath("oom.trove"), tpath("oom.out"));
        CHECK(oom_clean(&ta, rc, fds0, um0, dir));
        if (rc == TROVE_OK && !atomic_load(&ta.failed)) {
            successes++;
            break; /* every allocation point has been failed once */
        }
    }
    CHECK(successes == 1);
    CHECK(files_equal(tpath("oom.trove"), tpath("oom.out")));
    trove_registry *r = open_reg(dir, NULL);
    fsck_count fc;
    CHECK(r);
    trove_error err = {0};
    CHECK_OK(trove_registry_fsck(r, 0, on_fsck, &fc, NULL, &err));
    trove_registry_close(r);
}

/* Failures at random (seeded) points of the same sequence on a fresh registry, on two threads,
 * with a model of many blobs so that both threads store, copy and check at once; one run in
 * eight with fsync on (the store's sync() allocates). After each run: no leak (blocks, descriptors, temporaries, umask), and the registry is consistent.
 * TROVE_OOM_SEEDS sets the number of seeds (default 60), TROVE_OOM_SEED0 the first minus 1
 * (default 0); TROVE_OOM_VERBOSE prints what the seeds met. */
static void test_registry__oom_random(void)
{
    tspec ts[12];
    char names[12][8];
    for (unsigned i = 0; i < 12; i++) {
        snprintf(names[i], sizeof names[i], "t%02u", i);
        ts[i] = (tspec){names[i], 700 + 300 * (uint64_t)i, i + 1,
                        i % 4 == 3 ? TROVE_TENSOR_ZSTD : 0u, 0};
    }
    ts[5].elems = 80000; /* 320 KB: a large blob among small ones */
    char model[512], out[512]; /* tpath() reuses its buffers */
    snprintf(model, sizeof model, "%s", tpath("oomr.trove"));
    snprintf(out, sizeof out, "%s", tpath("oomr.out"));
    CHECK(write_model(model, ts, 12, NULL) == 0);
    /* allocations of one whole run, to spread the failures over all of it */
    mt_alloc ta;
    mt_alloc_init(&ta, 0, 0, 0);
    const char *dir0 = fresh_dir();
    CHECK_RC(oom_run(dir0, &ta.a, false, model, out), TROVE_OK);
    long total = atomic_load(&ta.count);
    CHECK(total > 100 && atomic_load(&ta.live) == 0);
    const char *env = getenv("TROVE_OOM_SEEDS"), *env0 = getenv("TROVE_OOM_SEED0");
    long seeds = env ? atol(env) : 60, seed0 = env0 ? atol(env0) : 0;
    bool verbose = getenv("TROVE_OOM_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "  %ld allocations in a whole run\n", total);
    long helper_fails = 0;
    int fds0 = count_fds(), failed_runs = 0, ok_runs = 0;
    mode_t um0 = current_umask();
    for (long seed = seed0 + 1; seed <= seed0 + seeds; seed++) {
        /* one failure per `every` allocations on average, every from 1/8 to 2 whole runs; one
         * seed in three fails only (and often) on the helper threads of the jobs, while the
         * caller's thread goes on with other jobs */
        bool helpers = seed % 3 == 0, sync = seed % 8 == 4;
        unsigned every = helpers ? 2 + (unsigned)(seed % 7)
                                 : (unsigned)(total / 8 + (seed * 7919) % (2 * total));
        const char *dir = fresh_dir();
        mt_alloc_init(&ta, 0, (uint64_t)seed, every);
        ta.helpers_only = helpers;
        int rc = oom_run(dir, &ta.a, sync, model, out);
        CHECK(oom_clean(&ta, rc, fds0, um0, dir));
        helper_fails += helpers && atomic_load(&ta.failed);
        if (rc == TROVE_OK && !atomic_load(&ta.failed)) {
            ok_runs++;
            CHECK(files_equal(model, out));
        } else {
            failed_runs++;
        }
        unlink(out);
        CHECK(oom_consistent(dir, model, out));
        unlink(out);
    }
    if (verbose)
        fprintf(stderr, "  %ld seeds: %d runs failed, %d succeeded; %ld failures on a helper "
                "thread\n", seeds, failed_runs, ok_runs, helper_fails);
    /* both outcomes were met (the seeds are fixed: this does not vary from run to run much) */
    CHECK(seeds < 20 || (failed_runs > seeds / 4 && ok_runs > 0));
}

/* Files under DIR/blobs (blobs and temporaries alike), whatever the catalog says. */
static long files_under_blobs(const char *dir)
{
    char path[700];
    snprintf(path, sizeof path, "%s/blobs", dir);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char sub[1000];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        DIR *d2 = opendir(sub);
        struct dirent *e2;
        while (d2 && (e2 = readdir(d2)))
            n += e2->d_name[0] != '.';
        if (d2)
            closedir(d2);
        else
            n++;
    }
    closedir(d);
    return n;
}

/* A file that changes while it is pushed (here: its times, touched every 200 us by another
 * process) is refused, and nothing is registered; pushed again at rest, it is accepted. */
static void test_registry__file_changed_during_push(void)
{
    trove_error err = {0};
    const char *dir = fresh_dir(), *path = tpath("moving.trove");
    CHECK(write_simple(path, 4, (UINT64_C(16) << 20) / 4, NULL) == 0); /* 64 MiB */
    trove_registry *r = open_reg(dir, NULL);
    CHECK(r);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int fd = open(path, O_RDONLY);
        for (int i = 0; i < 100000 && fd >= 0; i++) {
            futimens(fd, NULL);
            usleep(200);
        }
        _exit(0);
    }
    usleep(2000);
    int rc = trove_registry_push(r, path, "moving", NULL, NULL, &err);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    CHECK_RC(rc, TROVE_E_STATE);
    CHECK(strstr(err.message, "changed while it was being pushed") != NULL);
    trove_version *v = NULL;
    size_t n = 0;
    CHECK_RC(trove_registry_log(r, "moving", &v, &n, &err), TROVE_E_NOT_FOUND);
    CHECK_OK(trove_registry_push(r, path, "moving", NULL, NULL, &err));
    trove_registry_close(r);
}

/* Sign path in place with a fresh key; its public key in *pk. */
static int sign_in_place(const char *path, trove_signer **s, trove_pubkey *pk)
{
    trove_error err = {0};
    trove_file *f = NULL;
    int rc = trove_signer_generate(s, &err);
    if (!rc)
        rc = trove_open(&f, path, NULL, &err);
    if (!rc) {
        trove_signer_public(*s, pk);
        rc = trove_sign(f, path, *s, NULL, &err);
    }
    trove_close(f);
    if (rc)
        fprintf(stderr, "sign_in_place: %s\n", err.message);
    return rc;
}

/* Signature status recorded at push (checked over the digest push computes), trusted-key
 * policies on push and pull, and a transplanted signature refused with nothing left behind. */
static void test_registry__signatures(void)
{
    trove_error err = {0};
    const char *dir = fresh_dir(), *signed_ = tpath("sig.trove"), *plain = tpath("plain.trove"),
               *other = tpath("other.trove"), *out = tpath("sig.out");
    unsigned seeds_a[2] = {11, 12}, seeds_b[2] = {13, 14};
    CHECK(write_simple(signed_, 2, 300000, seeds_a) == 0);
    CHECK(write_simple(plain, 2, 300000, seeds_b) == 0);
    CHECK(write_simple(other, 2, 300000, seeds_b) == 0);
    trove_signer *s = NULL, *s2 = NULL;
    trove_pubkey pk, pk2;
    CHECK(sign_in_place(signed_, &s, &pk) == 0);
    CHECK(sign_in_place(other, &s2, &pk2) == 0);
    char id[2 * TROVE_KEY_ID_BYTES + 1];
    for (int i = 0; i < TROVE_KEY_ID_BYTES; i++)
        snprintf(id + 2 * i, 3, "%02x", pk.id[i]);
    trove_registry *r = open_reg(dir, NULL);
    CHECK(r);
    /* no policy: the status says what the signatures say, checked against the content */
    trove_version *v = NULL;
    CHECK_OK(trove_registry_push(r, signed_, "m", NULL, &v, &err));
    CHECK(strstr(v->signature, "signed by ") && strstr(v->signature, id) &&
          strstr(v->signature, "valid"));
    trove_registry_versions_free(r, v, 1);
    CHECK_OK(trove_registry_push(r, plain, "m", NULL, &v, &err));
    CHECK(!strcmp(v->signature, "unsigned"));
    trove_registry_versions_free(r, v, 1);
    /* a trusted key is required: the right one passes and is named */
    trove_push_options po = TROVE_PUSH_OPTIONS_INIT;
    trove_verify_result res;
    po.trusted = &pk;
    po.ntrusted = 1;
    po.sig_result = &res;
    CHECK_OK(trove_registry_push(r, signed_, "t", &po, &v, &err));
    CHECK(res.status == TROVE_SIG_VALID && !memcmp(res.key_id, pk.id, TROVE_KEY_ID_BYTES));
    CHECK(strstr(v->signature, "verified at push") && strstr(v->signature, id));
    trove_registry_versions_free(r, v, 1);
    long files0 = files_under_blobs(dir);
    CHECK(files0 > 0);
    /* unsigned and unknown signer are refused, and leave no blob behind */
    CHECK_RC(trove_registry_push(r, plain, "t", &po, NULL, &err), TROVE_E_SIGNATURE);
    CHECK(res.status == TROVE_SIG_UNSIGNED);
    CHECK_RC(trove_registry_push(r, other, "t", &po, NULL, &err), TROVE_E_SIGNATURE);
    CHECK(res.status == TROVE_SIG_UNKNOWN_KEY);
    CHECK(files_under_blobs(dir) == files0);
    /* a signature moved from another file: refused even without a policy */
    trove_file *fs = NULL, *fp = NULL;
    CHECK_OK(trove_open(&fs, signed_, NULL, &err));
    CHECK_OK(trove_open(&fp, plain, NULL, &err));
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    const char *moved = tpath("moved.trove");
    CHECK_OK(trove_file_rewrite(fp, moved, "signatures",
                                trove_value_get(trove_file_header(fs), "signatures"), &wo, &err));
    trove_close(fs);
    trove_close(fp);
    CHECK_RC(trove_registry_push(r, moved, "x", NULL, NULL, &err), TROVE_E_SIGNATURE);
    CHECK(strstr(err.message, "another model digest"));
    /* pull under a policy: the right key writes the file, the others leave nothing */
    CHECK_OK(trove_registry_pull_trusted(r, "t", out, &pk, 1, &res, NULL, &err));
    CHECK(res.status == TROVE_SIG_VALID && files_equal(signed_, out));
    CHECK(unlink(out) == 0);
    CHECK_RC(trove_registry_pull_trusted(r, "t", out, &pk2, 1, &res, NULL, &err),
             TROVE_E_SIGNATURE);
    CHECK(res.status == TROVE_SIG_UNKNOWN_KEY && access(out, F_OK) != 0);
    CHECK_RC(trove_registry_pull_trusted(r, "m:2", out, &pk, 1, &res, NULL, &err),
             TROVE_E_SIGNATURE);
    CHECK(res.status == TROVE_SIG_UNSIGNED && access(out, F_OK) != 0);
    CHECK_RC(trove_registry_pull_trusted(r, "m:2", out, NULL, 0, NULL, NULL, &err),
             TROVE_E_INVALID);
    trove_registry_close(r);
    trove_signer_free(s);
    trove_signer_free(s2);
}

TEST_MAIN(T(test_registry__roundtrip_byte_identical), T(test_registry__other_chunk_sizes),
          T(test_registry__empty_model),
          T(test_registry__same_bytes_same_version), T(test_registry__push_refuses_damaged_file),
          T(test_registry__layout_parser_hostile), T(test_registry__refs),
          T(test_registry__aliases_history_rm), T(test_registry__lineage_metrics),
          T(test_registry__dedup_accounting), T(test_registry__gc),
          T(test_registry__damaged_blob), T(test_registry__damaged_row),
          T(test_registry__concurrent_processes), T(test_registry__kill_during_push),
          T(test_registry__kill_during_gc), T(test_registry__gc_concurrent_with_push),
          T(test_registry__disk_full),
          T(test_registry__file_modes), T(test_registry__signatures),
          T(test_registry__file_changed_during_push),
          T(test_registry__oom_torture), T(test_registry__oom_random))
